"""Why a number is what it is: differences between evaluators' rules (compare)."""
