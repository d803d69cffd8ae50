// Package interop drives the official RocketMQ Go client
// (github.com/apache/rocketmq-client-go/v2) against a real `ferrocket standalone`
// process on loopback. Everything lives in the package's tests; run them with
// `go test ./...` from this directory.
package interop
