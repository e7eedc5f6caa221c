package dashboard

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/procpool/procpool/internal/wire"
)

// Call and Failure copy the callers' reports field by field, so that
// their users can name every type (the reports' types are internal). A
// field added to a report and not copied would vanish from the page:
// every key of a fully set report must reach the JSON with its value.
func TestStateCopiesEveryReportedField(t *testing.T) {
	at := time.Date(2026, 12, 2, 13, 0, 0, 0, time.UTC)
	r := wire.CallsReport{Caller: "c1", Host: "h", PID: 42, Time: at.Add(10 * time.Second)}

	cp := wire.CallProgress{}
	fill(t, &cp)
	cp.Started = at
	sameKeys(t, "Call", cp, makeCall(r, cp))

	f := wire.Failure{}
	fill(t, &f)
	sameKeys(t, "Failure", f, makeFailure(r, f))
}

// fill sets every field of the struct *v to a value that is not zero.
func fill(t *testing.T, v any) {
	t.Helper()
	s := reflect.ValueOf(v).Elem()
	for i := range s.NumField() {
		f := s.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(s.Type().Field(i).Name + "-value")
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(7 + i))
		case reflect.Uint64:
			f.SetUint(uint64(7 + i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Struct:
			if f.Type() != reflect.TypeFor[time.Time]() {
				t.Fatalf("fill: field %s: add its kind", s.Type().Field(i).Name)
			}
			f.Set(reflect.ValueOf(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)))
		default:
			t.Fatalf("fill: field %s of kind %s: add its kind", s.Type().Field(i).Name, f.Kind())
		}
	}
}

func sameKeys(t *testing.T, name string, report, state any) {
	t.Helper()
	want, got := asMap(t, report), asMap(t, state)
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s JSON %q = %v, want %v as the report has it", name, k, got[k], v)
		}
	}
	if got["caller"] != "c1" {
		t.Errorf("%s JSON caller = %v, want c1", name, got["caller"])
	}
}

func asMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
