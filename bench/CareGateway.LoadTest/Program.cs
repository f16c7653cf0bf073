return await CareGateway.LoadTest.Harness.RunAsync(args, Console.Out);
