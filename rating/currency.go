package rating

import "strconv"

// MinorUnits returns the number of decimal places of currency's minor unit
// per ISO 4217 (2 for EUR, 0 for JPY, 3 for KWD, 4 for CLF). A code the
// table does not list has 2, as most currencies do.
func MinorUnits(currency string) int {
	switch currency {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
		"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}

// FormatMoney formats m with at least minor decimal places and more only
// when m has more non-zero digits (up to Digits): with minor 2, 10 is
// "10.00", 9.5 is "9.50" and 9.971234 is "9.971234"; with minor 0, 1000 is
// "1000". minor is clamped to 0..Digits.
func FormatMoney(m Money, minor int) string {
	minor = min(max(minor, 0), Digits)
	var buf [32]byte
	b := buf[:0]
	v := uint64(m)
	if m < 0 {
		b = append(b, '-')
		v = -v
	}
	b = strconv.AppendUint(b, v/Scale, 10)
	frac := v % Scale
	var d [Digits]byte
	for i := Digits - 1; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := Digits
	for n > minor && d[n-1] == '0' {
		n--
	}
	if n > 0 {
		b = append(b, '.')
		b = append(b, d[:n]...)
	}
	return string(b)
}

// Decimals returns the number of decimal places written in the decimal
// string s ("12.50" has 2, "7" has 0).
func Decimals(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return len(s) - i - 1
		}
	}
	return 0
}
