module libintent.dev/intent

go 1.21
