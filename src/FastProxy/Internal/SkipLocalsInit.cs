// The hot path stackallocs only with constant bounds and never reads before writing.
[module: System.Runtime.CompilerServices.SkipLocalsInit]
