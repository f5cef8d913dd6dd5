// Command streaming runs an interactive Python program over the WebSocket
// stream: it prints the output as it comes and answers the program's prompts
// on its stdin; then it starts a second program and kills it.
//
//	go run ./examples/streaming
package main

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/soulbox/soulbox-go"
)

func main() {
	ctx := context.Background()
	client := soulbox.NewClient("")

	s, err := client.Stream(ctx, soulbox.ExecuteRequest{
		Language: "python",
		Code: `
			total = 0
			while True:
			    line = input("number? ")
			    if line == "done":
			        break
			    total += int(line)
			    print("running total:", total, flush=True)
			print("final total:", total)
			`,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	answers := []string{"3", "4", "35", "done"}
	var out strings.Builder
	for s.Next() {
		ev := s.Event()
		switch ev.Type {
		case "started":
			fmt.Println("[started]", ev.ID)
		case "stdout", "stderr":
			fmt.Printf("[%s] %q\n", ev.Type, ev.Data)
			out.WriteString(ev.Data)
			// answer each prompt as soon as it shows
			for strings.Count(out.String(), "number? ") > 0 && len(answers) > 0 {
				o := strings.Replace(out.String(), "number? ", "", 1)
				out.Reset()
				out.WriteString(o)
				fmt.Println("[stdin]", answers[0])
				if err := s.SendStdin(ctx, answers[0]+"\n"); err != nil {
					log.Fatal(err)
				}
				answers = answers[1:]
			}
		case "exit":
			fmt.Printf("[exit] status=%s exit_code=%d\n", ev.Result.Status, ev.Result.ExitCodeOr(-1))
		}
	}
	if err := s.Err(); err != nil {
		log.Fatal(err)
	}

	// a program that would run for a minute, killed once it has said hello
	k, err := client.Stream(ctx, soulbox.ExecuteRequest{Language: "bash", Code: "echo hello; sleep 60"})
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close()
	for k.Next() {
		if ev := k.Event(); ev.Type == "stdout" {
			fmt.Printf("[stdout] %q\n", ev.Data)
			k.Kill(ctx)
		}
	}
	r, err := k.Wait()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("[killed] status=%s signal=%d message=%q\n", r.Status, *r.Signal, r.Message)
}
