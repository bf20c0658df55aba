package populate

// StagingName is stagingName, for tests that plant leftover staging tables.
var StagingName = stagingName

// Cut is cut, for the test of how a group's INSERTs are cut.
var Cut = cut
