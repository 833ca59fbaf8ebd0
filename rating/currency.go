package rating

import (
	"strconv"
	"strings"
)

// isoCurrencies are the ISO 4217 codes of currencies in use (list one, as
// of 2025), with a few withdrawn lately that ledgers may still carry; fund
// codes, precious metals and the test codes (XTS, XXX) are not money a
// switch bills in.
var isoCurrencies = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
BSD BTN BWP BYN BZD CAD CDF CHF CLF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP
DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF
IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP
LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN
NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR
SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD
TWD TZS UAH UGX USD UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR
ZMW ZWG ZWL`) {
		m[c] = true
	}
	return m
}()

// IsCurrency tells whether code is an ISO 4217 currency code in use
// (upper case, as the standard writes it).
func IsCurrency(code string) bool { return isoCurrencies[code] }

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
