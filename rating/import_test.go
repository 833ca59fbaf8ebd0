package rating

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestImportCSV(t *testing.T) {
	deck := "\ufeffDial Code;Destination;Price;Connect Fee;Billing;Effective Date;Notes\n" +
		"49;Germany;0.01;0;60/60;2024-01-01;x\n" +
		"+4915;Germany Mobile;0,05;0;30/6;;\n" +
		"4916;Germany Mobile;0.05;;30-6;2024-13-01;\n" +
		"4917;Germany Mobile;0.0500001;;x;;\n" +
		"\n" +
		"49;Germany again;0.02;0;60/60;2024-01-01;\n" +
		"4a;Bad;0.01;;;;\n"
	c, rep, err := ImportCSV(strings.NewReader(deck), Settings{ID: "p"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c != nil {
		t.Fatal("got a card from a bad deck")
	}
	want := []string{
		`line 3: Price "0,05": not a decimal amount`,
		`line 4: Effective Date "2024-13-01": not a date`,
		`line 5: Price "0.0500001": more than 6 decimal places`,
		`line 5: Billing "x": not "initial/increment" seconds`,
		`line 7: Dial Code "49": duplicate of line 2`,
		`line 8: Dial Code "4a": not digits only`,
	}
	if rep.Rows != 6 {
		t.Errorf("Rows = %d, want 6", rep.Rows)
	}
	if len(rep.Ignored) != 1 || rep.Ignored[0] != "Notes" {
		t.Errorf("Ignored = %q", rep.Ignored)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.String())
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("problem %d = %s, want prefix %s", i, got[i], want[i])
		}
	}
}

func TestImportCSVDiff(t *testing.T) {
	s := Settings{ID: "p", Precision: 4}
	old, rep, err := ImportCSV(strings.NewReader("Prefix,Rate,Increment,Initial\n1,0.01,6,6\n2,0.02,,\n3,0.03,,\n4,0.04,,\n5,0.05,,\n"), s, nil)
	if err != nil || !rep.OK() {
		t.Fatal(err, rep.Problems)
	}
	if rep.Diff.Count(New) != 5 {
		t.Errorf("diff against nil: %+v", rep.Diff.Counts)
	}
	next, rep, err := ImportCSV(strings.NewReader("Code,Cost,Description\n1,0.01,\n2,0.03,\n3,0.01,\n4,0.04,renamed\n6,0.06,\n"), s, old)
	if err != nil || !rep.OK() {
		t.Fatal(err, rep.Problems)
	}
	want := map[Change]int{Unchanged: 0, New: 1, Increased: 1, Decreased: 1, Removed: 1, Changed: 2}
	for c, n := range want {
		if rep.Diff.Count(c) != n {
			t.Errorf("%v: %d, want %d (%+v)", c, rep.Diff.Count(c), n, rep.Diff.Counts)
		}
	}
	if next.Len() != 5 {
		t.Errorf("Len = %d", next.Len())
	}
	var got []string
	for _, e := range rep.Diff.Entries {
		line := e.Change.String()
		for _, r := range []*Row{e.Old, e.New} {
			if r == nil {
				line += " -"
				continue
			}
			line += fmt.Sprintf(" %s@%s/%q", r.Prefix, r.PerMinute, r.Description)
		}
		got = append(got, line)
	}
	wantEntries := []string{
		`changed 1@0.010000/"" 1@0.010000/""`, // increments 6/6 → the card's 60/60
		`increased 2@0.020000/"" 2@0.030000/""`,
		`decreased 3@0.030000/"" 3@0.010000/""`,
		`changed 4@0.040000/"" 4@0.040000/"renamed"`,
		`removed 5@0.050000/"" -`,
		`new - 6@0.060000/""`,
	}
	if !slices.Equal(got, wantEntries) {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantEntries, "\n"))
	}
}

func TestImportCSVHeader(t *testing.T) {
	for _, deck := range []string{"", "Description,Rate\n", "Prefix,Description\n", "Prefix,Code,Rate\n", "Prefix,Rate,Billing,Increment\n"} {
		if _, _, err := ImportCSV(strings.NewReader(deck), Settings{}, nil); !errors.Is(err, ErrBadHeader) {
			t.Errorf("ImportCSV(%q) error %v, want ErrBadHeader", deck, err)
		}
	}
}
