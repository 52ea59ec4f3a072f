package tokencache

import "errors"

// ErrInvalidConfig is wrapped by the error New and NewWithStore return for a nil fetch function, a nil store,
// a nil option or an option given an out-of-range value.
var ErrInvalidConfig = errors.New("tokencache: invalid config")

// ErrFetchPanic is wrapped by the error every waiter gets when the fetch function panicked. The panic is
// recovered (the process survives); the error message carries the panic value, and errors.As finds it when it
// was itself an error.
var ErrFetchPanic = errors.New("tokencache: fetch panicked")

// ErrInvalidExpiry is wrapped by the error returned when a fetch succeeded but its value is already past its
// hard expiry minus the safety margin (a zero Hard included), so it can never be handed out. It is treated like
// any other failed fetch: shared with the waiters and remembered for the negative TTL.
var ErrInvalidExpiry = errors.New("tokencache: fetched value expires within the safety margin")

// ErrClosed is returned by Get and GetInfo after Close when they would need a fetch, and wrapped around the
// error of a fetch that Close interrupted. Values already cached are still served after Close.
var ErrClosed = errors.New("tokencache: cache closed")

// errNilContext is returned by a Get that needs a fetch and was given a nil context.
var errNilContext = errors.New("tokencache: nil context")

// errGoexit is what waiters get when the fetch function called runtime.Goexit (t.FailNow in a test fetcher)
// instead of returning.
var errGoexit = errors.New("tokencache: fetch called runtime.Goexit")
