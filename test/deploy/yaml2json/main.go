// yaml2json reads a stream of YAML documents (kustomize or helm output) on stdin and prints them as one JSON array
// on stdout, skipping empty documents. The deploy tests use it so they parse YAML exactly as kubectl does
// (sigs.k8s.io/yaml), without a YAML parser among the project's npm dependencies.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	out := []byte{'['}
	n := 0
	for i, doc := range splitDocuments(in) {
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			fail(fmt.Errorf("document %d: %w", i+1, err))
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, j...)
		n++
	}
	out = append(out, ']', '\n')
	if _, err := os.Stdout.Write(out); err != nil {
		fail(err)
	}
}

// splitDocuments cuts the stream at lines that start with "---", as kubectl's YAML reader does.
func splitDocuments(in []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(in))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte("---")) && len(bytes.TrimSpace(line[3:])) == 0 {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.Write(line)
		cur.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		fail(err)
	}
	return append(docs, cur.Bytes())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "yaml2json:", err)
	os.Exit(1)
}
