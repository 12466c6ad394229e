package browsertest

// GroupMembers is groupMembers, for the tests outside the package that
// check a browser left no process behind.
var GroupMembers = groupMembers
