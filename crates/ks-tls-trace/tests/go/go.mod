module ks.test/tlsprobe

go 1.17
