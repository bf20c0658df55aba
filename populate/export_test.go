package populate

// StagingName is stagingName, for tests that plant leftover staging tables.
var StagingName = stagingName
