package cdr

import (
	"fmt"
	"time"
)

// Export frequencies.
const (
	Daily   = "daily"
	Weekly  = "weekly"  // ISO weeks, Monday 00:00 to Monday 00:00
	Monthly = "monthly" // calendar months
)

// Period is one closed export period: local midnight to local midnight in
// the customer's timezone. Name is "2006-01-02" (daily), "2006-W01"
// (weekly, ISO year and week) or "2006-01" (monthly).
type Period struct {
	Name string
	From time.Time // inclusive
	To   time.Time // exclusive
}

// LastClosedPeriod returns the latest period of freq that ended at or
// before now, in loc.
func LastClosedPeriod(freq string, now time.Time, loc *time.Location) (Period, error) {
	now = now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	switch freq {
	case Daily:
		return periodAt(freq, today.AddDate(0, 0, -1), loc), nil
	case Weekly:
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		return periodAt(freq, monday.AddDate(0, 0, -7), loc), nil
	case Monthly:
		first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
		return periodAt(freq, first.AddDate(0, -1, 0), loc), nil
	}
	return Period{}, fmt.Errorf("%w: frequency %q is not daily, weekly or monthly", ErrBadPeriod, freq)
}

// ParsePeriod reads a period name of freq (see Period) in loc.
func ParsePeriod(freq, name string, loc *time.Location) (Period, error) {
	var start time.Time
	switch freq {
	case Daily:
		t, err := time.ParseInLocation("2006-01-02", name, loc)
		if err != nil {
			return Period{}, fmt.Errorf("%w: %q is not a day (2006-01-02)", ErrBadPeriod, name)
		}
		start = t
	case Weekly:
		var year, week int
		if n, err := fmt.Sscanf(name, "%4d-W%2d", &year, &week); err != nil || n != 2 || len(name) != 8 || week < 1 || week > 53 {
			return Period{}, fmt.Errorf("%w: %q is not an ISO week (2006-W01)", ErrBadPeriod, name)
		}
		// ISO week 1 holds January 4th.
		jan4 := time.Date(year, 1, 4, 0, 0, 0, 0, loc)
		start = jan4.AddDate(0, 0, -((int(jan4.Weekday())+6)%7)+7*(week-1))
		if y, w := start.ISOWeek(); y != year || w != week {
			return Period{}, fmt.Errorf("%w: %d has no ISO week %d", ErrBadPeriod, year, week)
		}
	case Monthly:
		t, err := time.ParseInLocation("2006-01", name, loc)
		if err != nil {
			return Period{}, fmt.Errorf("%w: %q is not a month (2006-01)", ErrBadPeriod, name)
		}
		start = t
	default:
		return Period{}, fmt.Errorf("%w: frequency %q is not daily, weekly or monthly", ErrBadPeriod, freq)
	}
	return periodAt(freq, start, loc), nil
}

// periodAt returns the period of freq starting at local midnight start.
func periodAt(freq string, start time.Time, loc *time.Location) Period {
	p := Period{From: start}
	switch freq {
	case Daily:
		p.To = start.AddDate(0, 0, 1)
		p.Name = start.Format("2006-01-02")
	case Weekly:
		p.To = start.AddDate(0, 0, 7)
		y, w := start.ISOWeek()
		p.Name = fmt.Sprintf("%04d-W%02d", y, w)
	case Monthly:
		p.To = start.AddDate(0, 1, 0)
		p.Name = start.Format("2006-01")
	}
	// AddDate keeps the wall clock; midnight may not exist on a DST day
	// in some zones, where time.Date normalises forward, which is what a
	// period boundary should do.
	p.To = time.Date(p.To.Year(), p.To.Month(), p.To.Day(), 0, 0, 0, 0, loc)
	return p
}
