// Command storefront routes a shop's chat messages to handlers by intent.
//
// It opens one libintent engine, classifies each message (from the command line, or a
// few built-in samples), and dispatches on the intent: order tracking, cancellation,
// refunds and so on get an automatic answer; anything else, or anything the model is
// unsure about, is handed to a human.
//
//	go run ./examples/storefront                       # built-in sample messages
//	go run ./examples/storefront "where is my parcel?" "cancel order 1234"
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"

	"libintent.dev/intent"
)

// handler answers one message whose intent was recognised.
type handler func(msg string, r *intent.Result) string

var routes = map[string]handler{
	"track_order": func(string, *intent.Result) string {
		return "Let me look up your parcel: could you give me your order number?"
	},
	"cancel_order": func(string, *intent.Result) string {
		return "I can cancel that for you. Which order should I cancel?"
	},
	"check_cancellation_fee": func(string, *intent.Result) string {
		return "Cancelling before shipment is free; after that a return is needed."
	},
	"get_refund": func(string, *intent.Result) string {
		return "Refunds go back to your original payment method within 5 business days."
	},
	"delivery_period": func(string, *intent.Result) string {
		return "Standard delivery takes 2-4 business days."
	},
	"recover_password": func(string, *intent.Result) string {
		return "I've sent you a link to reset your password."
	},
	"chit_chat": func(string, *intent.Result) string {
		return "Hi! How can I help with your order today?"
	},
}

// toHuman is the default route: unknown intents, the fallback label, low confidence.
func toHuman(string, *intent.Result) string {
	return "Let me hand you over to a colleague who can help."
}

func route(r *intent.Result, minConfidence float32) handler {
	if r.Fallback || r.Confidence < minConfidence {
		return toHuman
	}
	if h, ok := routes[r.Intent]; ok {
		return h
	}
	return toHuman
}

func main() {
	minConf := flag.Float64("min-confidence", 0.15, "route to a human under this confidence")
	model := flag.String("model", "", "model file (default: the library's default model)")
	flag.Parse()

	messages := flag.Args()
	if len(messages) == 0 {
		messages = []string{
			"where is my parcel?",
			"I want to cancel my order",
			"how long does shipping take",
			"I forgot my password",
			"hello there",
			"what's the weather like in Paris",
			"",
		}
	}

	eng, err := intent.Open(intent.Options{Model: *model})
	if err != nil {
		log.Fatalf("opening libintent %s: %v", intent.Version(), err)
	}
	defer eng.Close()

	// One batch call for all messages; a bad message gets its own error.
	items, err := eng.ClassifyBatch(messages)
	if err != nil {
		log.Fatal(err)
	}
	status := 0
	for i, it := range items {
		msg := messages[i]
		if it.Err != nil {
			if errors.Is(it.Err, intent.StatusEmptyQuery) {
				fmt.Printf("%q\n  -> (empty message, ignored)\n", msg)
				continue
			}
			fmt.Fprintf(os.Stderr, "%q: %v\n", msg, it.Err)
			status = 1
			continue
		}
		r := it.Result
		reply := route(r, float32(*minConf))(msg, r)
		fmt.Printf("%q\n  intent %s (confidence %.2f)\n  -> %s\n", msg, r.Intent, r.Confidence, reply)
	}
	if status != 0 {
		eng.Close()
		os.Exit(status)
	}
}
