using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Running;

// BenchmarkDotNet exits 0 even when it refuses to run (a Debug build, a failed benchmark): turn that into a failure.
// The generated project's build gets 10 minutes, not 2: a shared 2-core machine under load misses 2.
var config = DefaultConfig.Instance.AddDiagnoser(MemoryDiagnoser.Default).WithBuildTimeout(TimeSpan.FromMinutes(10));
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
