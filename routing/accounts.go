package routing

import (
	"strconv"
	"sync"
	"time"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// Ledger entry kinds a customer's account holds.
const (
	KindPayment    = "payment"    // a completed payment, net of tax
	KindCharge     = "charge"     // an answered call's sell cost
	KindRerate     = "rerate"     // the difference a re-rated CDR makes
	KindAdjustment = "adjustment" // a manual change, with a reason
)

// A customer's money lives in store.Credit accounts: its balance account is
// its id; what it spent on a day (of its timezone) is a second account,
// kept only for customers with a daily spend limit, whose balance is minus
// the day's charges.

// Prepaid tells whether c's calls need available balance: a credit limit
// of zero, however written ("0", "0.00"), so that its balance may not go
// below 0 (Wallet.Open's floor).
func Prepaid(c store.Customer) bool {
	m, err := rating.ParseMoney(c.CreditLimit)
	return c.CreditLimit != "" && err == nil && m == 0
}

// BalanceAccount is the account that holds a customer's balance.
func BalanceAccount(customerID string) string { return customerID }

// SpendAccount is the account of what the customer spent on the day that
// contains at, in its timezone.
func SpendAccount(c store.Customer, at time.Time) string {
	return "spend/" + c.ID + "/" + Day(c, at)
}

// Day is the date (YYYY-MM-DD) that contains at in the customer's timezone
// (UTC when it has none or an unknown one).
func Day(c store.Customer, at time.Time) string {
	return at.In(location(c.Timezone)).Format(time.DateOnly)
}

// zones caches loaded timezones: time.LoadLocation reads a file each time.
var zones sync.Map // name → *time.Location

func location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	zones.Store(name, l)
	return l
}

// Entry keys: what an entry is for.

// PaymentKey is the key of a completed payment's entry.
func PaymentKey(paymentID string) string { return "payment/" + paymentID }

// CallKey is the key of a call's charge and of its re-rating differences:
// posting a re-rated cost under it posts only the difference. It starts
// with the call's set-up time in Unix milliseconds (13 digits until 2286),
// so that keys sort by time and a ledger store appends them instead of
// scattering them (the call id is random).
func CallKey(callID string, setup time.Time) string {
	return "call/" + strconv.FormatInt(setup.UnixMilli(), 10) + "/" + callID
}

// AdjustmentKey is the key of a manual adjustment.
func AdjustmentKey(id string) string { return "adjustment/" + id }
