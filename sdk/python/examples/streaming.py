#!/usr/bin/python3
"""Streaming with interactive stdin: output arrives as it is produced, answers go back in.

    SOULBOX_URL=... SOULBOX_API_KEY=... python3 examples/streaming.py
"""
from soulbox import Client

PROGRAM = """
    total = 0
    while True:
        line = input("number (empty to stop)? ")
        if not line:
            break
        total += int(line)
        print("running total:", total, flush=True)
    print("final:", total)
    """

ANSWERS = ["5", "7", "30", ""]


def main() -> None:
    client = Client()
    answers = iter(ANSWERS)
    pending = ""  # output since the last answer (a prompt may come in several pieces)
    with client.stream(language="python", code=PROGRAM) as stream:
        for event in stream:
            if event.type == "started":
                print(f"[started {event.id}]")
            elif event.type in ("stdout", "stderr"):
                print(event.data, end="", flush=True)
                pending += event.data
                if pending.endswith("? "):  # the program asks: answer it
                    pending = ""
                    answer = next(answers)
                    print(answer)
                    stream.send_stdin(answer + "\n")
            elif event.type == "exit":
                print(f"[exit: status={event.result.status} exit_code={event.result.exit_code}]")


if __name__ == "__main__":
    main()
