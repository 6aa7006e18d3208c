package intent_test

import (
	"errors"
	"fmt"
	"log"

	"libintent.dev/intent"
)

// Open an engine once, classify with it from anywhere, close it at the end.
func Example() {
	eng, err := intent.Open(intent.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	res, err := eng.Classify("where is my parcel?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (%.2f)\n", res.Intent, res.Confidence)
}

// Restrict the answer to the intents one screen can handle.
func ExampleWithLabels() {
	eng, err := intent.Open(intent.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	res, err := eng.Classify("I changed my mind, stop it", intent.WithLabels("track_order", "cancel_order"))
	if errors.Is(err, intent.StatusUnknownLabel) {
		log.Fatal("this taxonomy lacks one of the labels: ", err)
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Intent)
}

// One bad query in a batch does not fail the others.
func ExampleEngine_ClassifyBatch() {
	eng, err := intent.Open(intent.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()

	items, err := eng.ClassifyBatch([]string{"cancel my order", "", "do you ship to Norway?"})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		if it.Err != nil {
			fmt.Println("error:", intent.StatusOf(it.Err).Name())
			continue
		}
		fmt.Println(it.Result.Intent)
	}
}
