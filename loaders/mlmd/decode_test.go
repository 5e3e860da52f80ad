package mlmd

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func b64(m proto.Message) string {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func anyOf(m proto.Message) string {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return b64(a)
}

func TestDecode(t *testing.T) {
	st, _ := structpb.NewStruct(map[string]any{"num_steps": 100, "splits": []any{"train", "eval"}})
	i, f, s, yes := int64(7), 0.5, "gs://x", true
	nan := 0.0
	nan = nan / nan
	cases := []struct {
		name string
		v    value
		want string // JSON
		err  string
	}{
		{"int", value{intV: &i}, `7`, ""},
		{"double", value{doubleV: &f}, `0.5`, ""},
		{"nan", value{doubleV: &nan}, `"NaN"`, ""},
		{"string", value{stringV: &s}, `"gs://x"`, ""},
		{"bool", value{boolV: &yes}, `true`, ""},
		{"struct", value{stringV: ptr(structPrefix + b64(st))}, `{"num_steps":100,"splits":["train","eval"]}`, ""},
		{"struct bad base64", value{stringV: ptr(structPrefix + "@@@")}, ``, "mlmd-struct value is not valid base64"},
		{"struct not a struct", value{stringV: ptr(structPrefix + base64.StdEncoding.EncodeToString([]byte{0xff, 0xff}))}, ``, "not a google.protobuf.Struct"},
		{"proto struct", value{protoV: []byte(anyOf(st))}, `{"num_steps":100,"splits":["train","eval"]}`, ""},
		{"proto wrapper", value{protoV: []byte(anyOf(wrapperspb.String("v2")))}, `"v2"`, ""},
		{"proto unknown type", value{protoV: []byte(b64(&anypb.Any{TypeUrl: "type.googleapis.com/tfx.Custom", Value: []byte{8, 1}}))},
			`{"@type":"type.googleapis.com/tfx.Custom","value":"CAE="}`, ""},
		{"proto bad base64", value{protoV: []byte("!!")}, ``, "proto_value is not valid base64"},
		{"proto bad struct", value{protoV: []byte(b64(&anypb.Any{TypeUrl: "type.googleapis.com/google.protobuf.Struct", Value: []byte{0xff}}))}, ``, "does not parse"},
		{"bytes text", value{byteV: []byte("abc")}, `"abc"`, ""},
		{"bytes binary", value{byteV: []byte{0xff, 0}}, `"/wA="`, ""},
		{"none", value{}, `null`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.v.decode()
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("got error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.want, string(js)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// FuzzDecode feeds arbitrary stored strings to the STRUCT and PROTO decoders: they must
// return JSON-encodable values or an error, never panic.
func FuzzDecode(f *testing.F) {
	st, _ := structpb.NewStruct(map[string]any{"a": 1})
	f.Add(structPrefix+b64(st), anyOf(st))
	f.Add(structPrefix+"@@", "!!")
	f.Add("plain", anyOf(wrapperspb.Int64(3)))
	f.Fuzz(func(t *testing.T, s, p string) {
		for _, v := range []value{{stringV: &s}, {protoV: []byte(p)}, {byteV: []byte(p)}} {
			got, err := v.decode()
			if err != nil {
				continue
			}
			if _, err := json.Marshal(got); err != nil {
				t.Errorf("decoded %v is not JSON: %v", got, err)
			}
		}
	})
}

// FuzzAttrsJSON checks the hand-written attrs encoder against json.Marshal of the merged map.
func FuzzAttrsJSON(f *testing.F) {
	f.Add("span", "gs://b/<x>&\"y\"", int64(3), true)
	f.Add("é", "C:\\serving\\taxi\u2028", int64(-1), false)
	f.Add("mlprov_cost", "x", int64(0), true)
	f.Fuzz(func(t *testing.T, k, s string, n int64, ok bool) {
		m := map[string]any{k: s, "n": n, "ok": ok, "nested": map[string]any{"a": []any{1.5, s}}}
		var ps props
		for key, v := range m {
			ps = append(ps, prop{name: key, value: v})
		}
		slices.SortFunc(ps, func(a, b prop) int { return strings.Compare(a.name, b.name) })
		extra := map[string]any{"mlmd_id": int64(7), k: "shadowed"}
		got, err := attrsJSON(ps, extra)
		if err != nil {
			t.Fatal(err)
		}
		merged := map[string]any{"mlmd_id": int64(7)}
		for key, v := range m {
			if !strings.HasPrefix(key, "mlprov_") { // mlprov's own, read into columns
				merged[key] = v
			}
		}
		want, _ := json.Marshal(merged)
		if got != string(want) {
			t.Errorf("attrsJSON = %s, json.Marshal = %s", got, want)
		}
	})
}

func TestPositions(t *testing.T) {
	for _, ids := range [][]int64{{1, 2, 3, 5}, {7, 1 << 40, 3}, {}} {
		p := newPositions(len(ids), func(i int) int64 { return ids[i] })
		for i, id := range ids {
			if got, ok := p.get(id); !ok || got != i {
				t.Errorf("ids %v: get(%d) = %d, %v; want %d", ids, id, got, ok, i)
			}
		}
		for _, id := range []int64{0, 4, -1, 1<<40 + 1, 1 << 50} {
			if _, ok := p.get(id); ok {
				t.Errorf("ids %v: get(%d) found a position", ids, id)
			}
		}
	}
}
