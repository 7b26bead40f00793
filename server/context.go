package server

import "context"

// reqInfo is filled in by inner middleware for the outer request log.
type reqInfo struct {
	subject string
}

type reqInfoKey struct{}

func withReqInfo(ctx context.Context, i *reqInfo) context.Context {
	return context.WithValue(ctx, reqInfoKey{}, i)
}

func reqInfoFrom(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(reqInfoKey{}).(*reqInfo)
	return i
}
