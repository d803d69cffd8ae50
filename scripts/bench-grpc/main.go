// Command bench-grpc measures send and receive throughput of one broker through its gRPC port
// (the official RocketMQ 5 Go client) and through its remoting port (the official
// rocketmq-client-go/v2), with the same threads, body size and duration, so the two transports
// can be put side by side. It prints one line: proto, mode, messages, seconds, msgs/s, failures.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v2 "github.com/apache/rocketmq-client-go/v2"
	v2consumer "github.com/apache/rocketmq-client-go/v2/consumer"
	v2primitive "github.com/apache/rocketmq-client-go/v2/primitive"
	v2producer "github.com/apache/rocketmq-client-go/v2/producer"
	v2rlog "github.com/apache/rocketmq-client-go/v2/rlog"
	v5 "github.com/apache/rocketmq-clients/golang/v5"
	"github.com/apache/rocketmq-clients/golang/v5/credentials"
)

type options struct {
	proto, mode, endpoint, namesrv, topic, group string
	threads, size, batch                         int
	duration                                     time.Duration
	total                                        int64
}

func main() {
	var o options
	flag.StringVar(&o.proto, "proto", "grpc", "grpc or remoting")
	flag.StringVar(&o.mode, "mode", "send", "send or receive")
	flag.StringVar(&o.endpoint, "endpoint", "127.0.0.1:8081", "gRPC endpoint")
	flag.StringVar(&o.namesrv, "namesrv", "127.0.0.1:9876", "name server (remoting)")
	flag.StringVar(&o.topic, "topic", "BenchGrpc", "topic")
	flag.StringVar(&o.group, "group", "BenchGrpcGroup", "consumer group (receive)")
	flag.IntVar(&o.threads, "threads", 16, "sending goroutines or receiving loops")
	flag.IntVar(&o.size, "size", 1024, "body bytes")
	flag.IntVar(&o.batch, "batch", 32, "messages per gRPC receive")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "how long to send; receive stops after this long without a message")
	flag.Int64Var(&o.total, "total", 0, "receive: stop after this many messages")
	flag.Parse()
	v2rlog.SetLogLevel("error")
	os.Setenv(v5.CLIENT_LOG_ROOT, os.TempDir())
	v5.ResetLogger()
	var n, failed int64
	var secs float64
	var err error
	switch o.proto + "/" + o.mode {
	case "grpc/send":
		n, failed, secs, err = grpcSend(o)
	case "grpc/receive":
		n, failed, secs, err = grpcReceive(o)
	case "remoting/send":
		n, failed, secs, err = remotingSend(o)
	case "remoting/receive":
		n, failed, secs, err = remotingReceive(o)
	default:
		err = fmt.Errorf("unknown -proto/-mode %s/%s", o.proto, o.mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s %s messages=%d seconds=%.1f msgs/s=%.0f failures=%d\n", o.proto, o.mode, n, secs, float64(n)/secs, failed)
}

// run calls one function from o.threads goroutines until o.duration is over.
func run(o options, send func() error) (int64, int64, float64) {
	var n, failed int64
	start := time.Now()
	deadline := start.Add(o.duration)
	var wg sync.WaitGroup
	for i := 0; i < o.threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if send() != nil {
					atomic.AddInt64(&failed, 1)
				} else {
					atomic.AddInt64(&n, 1)
				}
			}
		}()
	}
	wg.Wait()
	return n, failed, time.Since(start).Seconds()
}

func grpcSend(o options) (int64, int64, float64, error) {
	p, err := v5.NewProducer(&v5.Config{Endpoint: o.endpoint, Credentials: &credentials.SessionCredentials{}}, v5.WithTopics(o.topic))
	if err != nil {
		return 0, 0, 0, err
	}
	if err := p.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer p.GracefulStop()
	body := []byte(strings.Repeat("x", o.size))
	n, failed, secs := run(o, func() error {
		_, err := p.Send(context.Background(), &v5.Message{Topic: o.topic, Body: body})
		return err
	})
	return n, failed, secs, nil
}

func grpcReceive(o options) (int64, int64, float64, error) {
	c, err := v5.NewSimpleConsumer(&v5.Config{Endpoint: o.endpoint, ConsumerGroup: o.group, Credentials: &credentials.SessionCredentials{}},
		v5.WithSimpleAwaitDuration(5*time.Second),
		v5.WithSimpleSubscriptionExpressions(map[string]*v5.FilterExpression{o.topic: v5.SUB_ALL}))
	if err != nil {
		return 0, 0, 0, err
	}
	if err := c.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer c.GracefulStop()
	var n, failed, last int64
	start := time.Now()
	atomic.StoreInt64(&last, start.UnixNano())
	var wg sync.WaitGroup
	for i := 0; i < o.threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for (o.total == 0 || atomic.LoadInt64(&n) < o.total) &&
				time.Since(time.Unix(0, atomic.LoadInt64(&last))) < o.duration {
				views, err := c.Receive(context.Background(), int32(o.batch), 30*time.Second)
				if err != nil && !strings.Contains(err.Error(), "MESSAGE_NOT_FOUND") {
					atomic.AddInt64(&failed, 1)
					continue
				}
				for _, v := range views {
					if c.Ack(context.Background(), v) != nil {
						atomic.AddInt64(&failed, 1)
						continue
					}
					atomic.AddInt64(&n, 1)
					atomic.StoreInt64(&last, time.Now().UnixNano())
				}
			}
		}()
	}
	wg.Wait()
	return n, failed, time.Unix(0, atomic.LoadInt64(&last)).Sub(start).Seconds(), nil
}

func remotingSend(o options) (int64, int64, float64, error) {
	p, err := v2.NewProducer(v2producer.WithNameServer([]string{o.namesrv}), v2producer.WithRetry(2),
		v2producer.WithGroupName("BenchGrpcProducer"))
	if err != nil {
		return 0, 0, 0, err
	}
	if err := p.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer p.Shutdown()
	body := []byte(strings.Repeat("x", o.size))
	n, failed, secs := run(o, func() error {
		r, err := p.SendSync(context.Background(), v2primitive.NewMessage(o.topic, body))
		if err == nil && r.Status != v2primitive.SendOK {
			err = fmt.Errorf("send status %d", r.Status)
		}
		return err
	})
	return n, failed, secs, nil
}

func remotingReceive(o options) (int64, int64, float64, error) {
	c, err := v2.NewPushConsumer(v2consumer.WithNameServer([]string{o.namesrv}), v2consumer.WithGroupName(o.group),
		v2consumer.WithConsumeFromWhere(v2consumer.ConsumeFromFirstOffset), v2consumer.WithPullBatchSize(32),
		v2consumer.WithConsumeMessageBatchMaxSize(32), v2consumer.WithConsumeGoroutineNums(o.threads))
	if err != nil {
		return 0, 0, 0, err
	}
	var n, last int64
	start := time.Now()
	atomic.StoreInt64(&last, start.UnixNano())
	err = c.Subscribe(o.topic, v2consumer.MessageSelector{}, func(_ context.Context, msgs ...*v2primitive.MessageExt) (v2consumer.ConsumeResult, error) {
		atomic.AddInt64(&n, int64(len(msgs)))
		atomic.StoreInt64(&last, time.Now().UnixNano())
		return v2consumer.ConsumeSuccess, nil
	})
	if err != nil {
		return 0, 0, 0, err
	}
	if err := c.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer c.Shutdown()
	for (o.total == 0 || atomic.LoadInt64(&n) < o.total) &&
		time.Since(time.Unix(0, atomic.LoadInt64(&last))) < o.duration {
		time.Sleep(100 * time.Millisecond)
	}
	return atomic.LoadInt64(&n), 0, time.Unix(0, atomic.LoadInt64(&last)).Sub(start).Seconds(), nil
}
