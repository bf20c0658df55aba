package estimate

// SetChunkRows changes the chunk size and returns a function restoring it.
func SetChunkRows(n uint64) func() {
	old := chunkRows
	chunkRows = n
	return func() { chunkRows = old }
}
