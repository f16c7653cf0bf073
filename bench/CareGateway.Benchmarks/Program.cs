using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(CareGateway.Benchmarks.ProtocolBenchmarks).Assembly).Run(args);
