package rating

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// field is a column role of a rate deck.
type field int

const (
	fPrefix field = iota
	fDescription
	fRate
	fFee
	fBilling
	fInitial
	fIncrement
	fGrace
	fFrom
	fTo
	fBlocked
	fCurrency
	numFields
)

var fieldNames = [numFields]string{"prefix", "description", "rate", "connection fee", "billing",
	"initial increment", "increment", "grace", "effective from", "effective to", "blocked", "currency"}

// columnAliases maps normalised header names (lower case, letters and
// digits only) to fields.
var columnAliases = map[string]field{
	"prefix": fPrefix, "code": fPrefix, "dialcode": fPrefix, "dialcodes": fPrefix, "dialingcode": fPrefix,
	"dialprefix": fPrefix, "destinationcode": fPrefix, "numberprefix": fPrefix, "areacode": fPrefix,
	"countrycode": fPrefix, "prefixcode": fPrefix, "dstcode": fPrefix,

	"description": fDescription, "destination": fDescription, "desc": fDescription, "name": fDescription,
	"country": fDescription, "destinationname": fDescription, "area": fDescription, "location": fDescription,

	"rate": fRate, "cost": fRate, "price": fRate, "rateperminute": fRate, "ratepermin": fRate, "ratemin": fRate,
	"perminute": fRate, "permin": fRate, "priceperminute": fRate, "pricepermin": fRate, "costperminute": fRate,
	"minuterate": fRate, "buyrate": fRate, "sellrate": fRate, "intervalrate": fRate,

	"connectionfee": fFee, "connectfee": fFee, "connection": fFee, "connectioncharge": fFee,
	"connectcharge": fFee, "setupfee": fFee, "setupcharge": fFee, "setup": fFee,

	"billing": fBilling, "billingincrement": fBilling, "billingincrements": fBilling, "increments": fBilling,
	"billinginterval": fBilling, "billingintervals": fBilling, "intervals": fBilling, "billingcycle": fBilling,
	"pulse": fBilling,

	"initial": fInitial, "initialincrement": fInitial, "initialinterval": fInitial, "firstinterval": fInitial,
	"firstincrement": fInitial, "mintime": fInitial, "minimumtime": fInitial, "minduration": fInitial,
	"interval1": fInitial, "initialseconds": fInitial,

	"increment": fIncrement, "subsequentincrement": fIncrement, "subsequentinterval": fIncrement,
	"nextinterval": fIncrement, "nextincrement": fIncrement, "additionalincrement": fIncrement,
	"intervaln": fIncrement, "subsequentseconds": fIncrement,

	"grace": fGrace, "graceperiod": fGrace, "graceseconds": fGrace, "gracetime": fGrace, "freeseconds": fGrace,

	"effectivedate": fFrom, "effectivefrom": fFrom, "effective": fFrom, "from": fFrom, "validfrom": fFrom,
	"startdate": fFrom, "start": fFrom, "activationdate": fFrom, "date": fFrom,

	"enddate": fTo, "effectiveto": fTo, "to": fTo, "validto": fTo, "validuntil": fTo, "expiry": fTo,
	"expires": fTo, "expirydate": fTo, "expirationdate": fTo, "end": fTo,

	"blocked": fBlocked, "block": fBlocked, "isblocked": fBlocked, "forbidden": fBlocked, "status": fBlocked,

	"currency": fCurrency, "curr": fCurrency, "ccy": fCurrency,
}

func normaliseHeader(h string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(h) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// mapHeader assigns header columns to fields, filling rep.Columns and
// rep.Ignored. A missing prefix or rate column, or two columns for one
// field, is an ErrBadHeader.
func mapHeader(header []string, rep *Report) ([numFields]int, error) {
	var cols [numFields]int
	for i := range cols {
		cols[i] = -1
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	for i, h := range header {
		f, ok := columnAliases[normaliseHeader(h)]
		if !ok {
			rep.Ignored = append(rep.Ignored, h)
			continue
		}
		if cols[f] >= 0 {
			return cols, fmt.Errorf("%w: columns %q and %q both give the %s", ErrBadHeader, header[cols[f]], h, fieldNames[f])
		}
		cols[f] = i
		rep.Columns[h] = fieldNames[f]
	}
	if cols[fPrefix] < 0 {
		return cols, fmt.Errorf("%w: no prefix column (Prefix, Code, Dial Code …) in %q", ErrBadHeader, header)
	}
	if cols[fRate] < 0 {
		return cols, fmt.Errorf("%w: no rate column (Rate, Cost, Price …) in %q", ErrBadHeader, header)
	}
	if cols[fBilling] >= 0 && (cols[fInitial] >= 0 || cols[fIncrement] >= 0) {
		return cols, fmt.Errorf("%w: both a billing column and separate increment columns", ErrBadHeader)
	}
	return cols, nil
}

var dateLayouts = [...]string{
	"2006-01-02", "2006-01-02 15:04:05", "2006-01-02 15:04", time.RFC3339, "2006-01-02T15:04:05",
	"2006/01/02", "2006/01/02 15:04:05", "02.01.2006",
}

// parseDate reads a date (UTC unless it names a zone) or Unix seconds.
func (p *deckParser) parseDate(v string) (int64, error) {
	if v == p.lastDate && v != "" {
		return p.lastUnix, nil
	}
	var t int64
	if allDigits(v) && len(v) >= 9 {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, errors.New("not a date")
		}
		t = n
	} else {
		ok := false
		for _, l := range dateLayouts {
			if tm, err := time.Parse(l, v); err == nil {
				t, ok = tm.Unix(), true
				break
			}
		}
		if !ok {
			return 0, errors.New("not a date (want YYYY-MM-DD, YYYY-MM-DD hh:mm:ss, RFC 3339 or Unix seconds)")
		}
	}
	if t < 0 {
		return 0, errors.New("before 1970")
	}
	p.lastDate, p.lastUnix = strings.Clone(v), t
	return t, nil
}
