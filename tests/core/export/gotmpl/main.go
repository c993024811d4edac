// Executes an Ollama chat TEMPLATE the way Ollama prepares its data, for the export tests.
//
// Reads one JSON object on stdin:
//   {"template": "...", "system": "...", "messages": [{"role": "...", "content": "..."}], "mode": "chat"}
// mode "chat" (default): the Modelfile SYSTEM becomes a leading system message unless the conversation
// starts with one; consecutive messages of one role are joined with a blank line; all system texts,
// joined, become .System; the template gets .System, .Messages (.Role, .Content), .Prompt and .Response.
// mode "prompt": the template gets .System, .Prompt (the last user message) and an empty .Response.
// mode "check": only parse the template (exit 1 with the error when it does not compile).
// Prints the rendered text on stdout, unchanged.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"
	"text/template/parse"
)

type message struct {
	Role     string `json:"role"`
	Content  string `json:"content"`
	Thinking string `json:"thinking"`
}

type request struct {
	Template string    `json:"template"`
	System   string    `json:"system"`
	Messages []message `json:"messages"`
	Mode     string    `json:"mode"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// usesField reports whether any action of the parsed template names the field `name`.
func usesField(node parse.Node, name string) bool {
	switch n := node.(type) {
	case *parse.ListNode:
		if n == nil {
			return false
		}
		for _, child := range n.Nodes {
			if usesField(child, name) {
				return true
			}
		}
	case *parse.ActionNode:
		return usesField(n.Pipe, name)
	case *parse.IfNode:
		return usesField(n.Pipe, name) || usesField(n.List, name) || usesField(n.ElseList, name)
	case *parse.RangeNode:
		return usesField(n.Pipe, name) || usesField(n.List, name) || usesField(n.ElseList, name)
	case *parse.WithNode:
		return usesField(n.Pipe, name) || usesField(n.List, name) || usesField(n.ElseList, name)
	case *parse.PipeNode:
		if n == nil {
			return false
		}
		for _, cmd := range n.Cmds {
			for _, arg := range cmd.Args {
				if usesField(arg, name) {
					return true
				}
			}
		}
	case *parse.FieldNode:
		for _, ident := range n.Ident {
			if ident == name {
				return true
			}
		}
	case *parse.VariableNode:
		for _, ident := range n.Ident {
			if ident == name {
				return true
			}
		}
	}
	return false
}

// joinTurns merges consecutive messages of one role and gathers the system texts.
func joinTurns(messages []message) (string, []*message) {
	var systems []string
	var joined []*message
	for i := range messages {
		current := messages[i]
		if current.Role == "system" {
			systems = append(systems, current.Content)
		}
		if len(joined) > 0 && joined[len(joined)-1].Role == current.Role {
			joined[len(joined)-1].Content += "\n\n" + current.Content
			continue
		}
		joined = append(joined, &current)
	}
	return strings.Join(systems, "\n\n"), joined
}

func main() {
	raw, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("cannot read stdin: %v", err)
	}
	var req request
	if err := json.Unmarshal(raw, &req); err != nil {
		fail("bad request: %v", err)
	}
	funcs := template.FuncMap{"json": func(v any) string { b, _ := json.Marshal(v); return string(b) }}
	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(req.Template)
	if err != nil {
		fail("template error: %v", err)
	}
	if req.Mode == "check" {
		return
	}
	data := map[string]any{"Response": ""}
	if req.Mode == "prompt" || !usesField(tmpl.Tree.Root, "Messages") {
		data["System"] = req.System
		for _, m := range req.Messages {
			if m.Role == "user" {
				data["Prompt"] = m.Content
			}
		}
	} else {
		messages := req.Messages
		if req.System != "" && (len(messages) == 0 || messages[0].Role != "system") {
			messages = append([]message{{Role: "system", Content: req.System}}, messages...)
		}
		system, joined := joinTurns(messages)
		data["System"] = system
		data["Messages"] = joined
	}
	var out strings.Builder
	if err := tmpl.Execute(&out, data); err != nil {
		fail("execution error: %v", err)
	}
	fmt.Print(out.String())
}
