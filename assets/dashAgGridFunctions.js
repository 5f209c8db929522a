/* Functions AG Grid column definitions name (pages/history.py). */
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

/* The date filter on an ISO 8601 timestamp cell: compares the cell's local calendar day with the chosen one. */
dagfuncs.isoDayComparator = function (filterDate, cellValue) {
  if (!cellValue) {
    return -1;
  }
  const moment = new Date(cellValue);
  const day = new Date(moment.getFullYear(), moment.getMonth(), moment.getDate());
  return day < filterDate ? -1 : day > filterDate ? 1 : 0;
};
