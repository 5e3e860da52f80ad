package engine

import "strings"

// dotQuoter escapes text for a double-quoted Graphviz string: a backslash and a quote are
// escaped so they print as themselves (a lone backslash would start one of Graphviz's label
// escapes, such as \N for the node's name), and a line break becomes \n, Graphviz's centred
// line break.
var dotQuoter = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// dotQuote returns s as a double-quoted Graphviz ID or label. Every string written into DOT
// goes through it, so a label's lines are built with real line breaks and escaped once, here.
func dotQuote(s string) string {
	return `"` + dotQuoter.Replace(s) + `"`
}
