module github.com/soulbox/soulbox-go

go 1.19
