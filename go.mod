module github.com/telecart/telecart

go 1.26.8
