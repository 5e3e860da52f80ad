package mlmd

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	// Registered so that proto_value Anys holding well-known types decode to JSON.
	_ "google.golang.org/protobuf/types/known/durationpb"
	_ "google.golang.org/protobuf/types/known/timestamppb"
	_ "google.golang.org/protobuf/types/known/wrapperspb"
)

// structPrefix marks a string_value that holds a base64 serialized google.protobuf.Struct.
const structPrefix = "mlmd-struct::"

// value is one stored property: the value columns of a property row, at most one set.
type value struct {
	intV    *int64
	doubleV *float64
	stringV *string
	byteV   []byte
	protoV  []byte
	boolV   *bool
}

// decode turns a stored property into a JSON-ready Go value: numbers, strings, booleans, and
// for STRUCT and PROTO values the JSON of the message where its type is known. A value that
// claims an encoding it does not have (bad base64, a Struct that does not parse) is an error:
// the store is damaged, and a silent raw string would hide that.
func (v value) decode() (any, error) {
	switch {
	case v.intV != nil:
		return *v.intV, nil
	case v.doubleV != nil:
		f := *v.doubleV
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Sprint(f), nil // JSON has no NaN or Inf
		}
		return f, nil
	case v.stringV != nil:
		if rest, ok := strings.CutPrefix(*v.stringV, structPrefix); ok {
			return decodeStruct(rest)
		}
		return *v.stringV, nil
	case v.boolV != nil:
		return *v.boolV, nil
	case v.protoV != nil:
		return decodeProto(v.protoV)
	case v.byteV != nil:
		if utf8.Valid(v.byteV) {
			return string(v.byteV), nil
		}
		return base64.StdEncoding.EncodeToString(v.byteV), nil
	}
	return nil, nil
}

// decodeStruct decodes the base64 part of an mlmd-struct:: value into a JSON object.
func decodeStruct(b64 string) (any, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("mlmd-struct value is not valid base64: %w", err)
	}
	var s structpb.Struct
	if err := proto.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("mlmd-struct value is not a google.protobuf.Struct: %w", err)
	}
	return s.AsMap(), nil
}

// decodeProto decodes a proto_value: base64 of a serialized google.protobuf.Any. Messages of
// a type compiled into mlprov (Struct, Value, wrappers, Timestamp, Duration) become their
// JSON; others stay raw, as {"@type": ..., "value": base64}, since their schema is unknown.
func decodeProto(stored []byte) (any, error) {
	raw, err := base64.StdEncoding.DecodeString(string(stored))
	if err != nil {
		return nil, fmt.Errorf("proto_value is not valid base64: %w", err)
	}
	var a anypb.Any
	if err := proto.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("proto_value is not a google.protobuf.Any: %w", err)
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(a.TypeUrl)
	if err == nil {
		m := mt.New().Interface()
		if err := proto.Unmarshal(a.Value, m); err != nil {
			return nil, fmt.Errorf("proto_value holds a %s that does not parse: %w", a.TypeUrl, err)
		}
		js, err := protojson.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("proto_value %s: %w", a.TypeUrl, err)
		}
		var out any
		if err := json.Unmarshal(js, &out); err != nil {
			return nil, fmt.Errorf("proto_value %s: %w", a.TypeUrl, err)
		}
		return out, nil
	}
	return map[string]any{"@type": a.TypeUrl, "value": base64.StdEncoding.EncodeToString(a.Value)}, nil
}
