// Command quickstart is the README's example: run a Python snippet and print
// its output. The server is SOULBOX_URL when set, else localhost:8080.
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/soulbox/soulbox-go"
)

func main() {
	ctx := context.Background()
	client := soulbox.NewClient(os.Getenv("SOULBOX_URL")) // "" means localhost:8080
	result, err := client.Execute(ctx, soulbox.ExecuteRequest{
		Language: "python",
		Code: `
			import numpy as np
			print(np.random.rand(3, 3))
			`,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(result.Stdout)
}
