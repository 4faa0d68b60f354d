module natplan.io/e2e-tiny

go 1.22
