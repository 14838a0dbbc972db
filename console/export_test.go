package console

// SetCountBudget sets the objects an overview page counts in all and
// returns a function that restores it.
func SetCountBudget(n int) (restore func()) {
	old := countBudget
	countBudget = n
	return func() { countBudget = old }
}
