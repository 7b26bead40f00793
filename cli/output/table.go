// Package output renders what the rise CLI shows: tables and JSON on stdout,
// progress, spinners and messages on stderr, colour only on a terminal.
package output

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Gap is the least number of spaces between two columns.
const Gap = 3

// Column is a table column. Min is the column's minimum width including the
// gap that follows it; the seed's project table uses 16, 14, 32, 14.
type Column struct {
	Header string
	Min    int
}

// Table is a left-aligned text table. Each column except the last is padded
// to max(Min, widest cell or header + Gap); the last column is not padded,
// so no line ends in spaces. This reproduces the seed byte for byte:
//
//	PROJECT         STATUS        URL                             VISIBILITY    OWNER
//	my-first-app    running       https://my-first-app.rise.dev   public        user:niklas
type Table struct {
	// NoHeader omits the header line (key/value listings).
	NoHeader bool

	cols []Column
	rows [][]string
}

// NewTable returns a table with the given columns.
func NewTable(cols ...Column) *Table { return &Table{cols: cols} }

// Row adds a row; missing cells are empty, extra cells are dropped.
func (t *Table) Row(cells ...string) {
	r := make([]string, len(t.cols))
	copy(r, cells)
	t.rows = append(t.rows, r)
}

// Len is the number of rows.
func (t *Table) Len() int { return len(t.rows) }

// Widths returns the padded width of every column (the last one unpadded).
func (t *Table) Widths() []int {
	w := make([]int, len(t.cols))
	for i, c := range t.cols {
		m := utf8.RuneCountInString(c.Header)
		for _, r := range t.rows {
			m = max(m, utf8.RuneCountInString(r[i]))
		}
		if i < len(t.cols)-1 {
			m = max(c.Min, m+Gap)
		}
		w[i] = m
	}
	return w
}

// Render writes the header and the rows.
func (t *Table) Render(w io.Writer) error {
	widths := t.Widths()
	var b strings.Builder
	line := func(cells []string) {
		for i, c := range cells {
			if i == len(cells)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)))
		}
		b.WriteByte('\n')
	}
	hdr := make([]string, len(t.cols))
	for i, c := range t.cols {
		hdr[i] = c.Header
	}
	if !t.NoHeader {
		line(hdr)
	}
	for _, r := range t.rows {
		line(r)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
