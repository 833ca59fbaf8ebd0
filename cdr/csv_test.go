package cdr

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/rating"
)

func TestCSVWriter(t *testing.T) {
	r := testRecord(1)
	r.Description = `Germany, "Mobile"`
	r.SellCost = rating.Money(-1) // -0.000001
	r.AnswerMs = 0
	berlin, _ := time.LoadLocation("Europe/Berlin")
	tests := []struct {
		name   string
		fields []string
		loc    *time.Location
		want   string
	}{
		{"selected fields in order", []string{"sell_cost", "call_id", "description", "sip_call_id"}, nil,
			"sell_cost,call_id,description,sip_call_id\n-0.000001,call-000001@test.example,\"Germany, \"\"Mobile\"\"\",00000001-leg@pbx.example\n"},
		{"times in a timezone", []string{"setup_time", "answer_time", "setup_ms"}, berlin,
			"setup_time,answer_time,setup_ms\n2023-11-14T23:13:21.000+01:00,,1700000001000\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			w, err := NewCSVWriter(&b, tt.fields, tt.loc)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(&r); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
	var b bytes.Buffer
	w, _ := NewCSVWriter(&b, nil, nil)
	_ = w.Write(&r)
	_ = w.Flush()
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 || strings.Join(rows[0], ",") != strings.Join(Fields(), ",") || len(rows[1]) != len(Fields()) {
		t.Errorf("all fields: %q %v", rows, err)
	}
	for _, bad := range [][]string{{"call_id", "call_id"}, {"nope"}, {""}} {
		if err := CheckFields(bad); !errors.Is(err, ErrBadField) {
			t.Errorf("CheckFields(%q) = %v", bad, err)
		}
	}
}

// TestFieldsCoverRecord checks that every JSON field of Record is a CSV
// column under the same name.
func TestFieldsCoverRecord(t *testing.T) {
	rt := reflect.TypeFor[Record]()
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Type.Kind() == reflect.Struct { // RTPStats: a column per field, customer_rtp_packets
			for j := range f.Type.NumField() {
				sub, _, _ := strings.Cut(f.Type.Field(j).Tag.Get("json"), ",")
				if !slices.Contains(Fields(), name+"_"+sub) {
					t.Errorf("Record field %s.%s (%q) is not a CSV column", f.Name, f.Type.Field(j).Name, name+"_"+sub)
				}
			}
			continue
		}
		if !slices.Contains(Fields(), name) {
			t.Errorf("Record field %s (%q) is not a CSV column", f.Name, name)
		}
	}
}

func BenchmarkCSVWriter(b *testing.B) {
	r := testRecord(7)
	w, err := NewCSVWriter(io.Discard, nil, time.UTC)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(&r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// A party's text that a spreadsheet would run as a formula is written
// inert; numbers are left alone.
func TestCSVInert(t *testing.T) {
	tests := map[string]string{
		"=HYPERLINK(1)": "'=HYPERLINK(1)", "@SUM(1)": "'@SUM(1)", "+1+1": "'+1+1", "-2+3": "'-2+3",
		"\tx": "'\tx", "+15551234567": "+15551234567", "-12": "-12", "alice": "alice", "": "",
	}
	for in, want := range tests {
		if got := Inert(in); got != want {
			t.Errorf("Inert(%q) = %q, want %q", in, got, want)
		}
	}
}
