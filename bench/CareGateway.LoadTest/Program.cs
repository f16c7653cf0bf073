if (args.Length > 0 && args[0] == "report")
{
    string Arg(string name) => args[Array.IndexOf(args, name) + 1];
    return CareGateway.LoadTest.Report.Write(Arg("--micro"), Arg("--load"), Arg("--json"), Arg("--md"), args.Contains("--centre-service") ? Arg("--centre-service") : null);
}

if (args.Length > 0 && args[0] == "centre-service")
{
    return await CareGateway.LoadTest.CentreServiceTest.MainAsync(args[1..], Console.Out);
}

if (args.Length > 0 && args[0] == "idle")
{
    return await CareGateway.LoadTest.IdleCostTest.MainAsync(args[1..], Console.Out);
}

return await CareGateway.LoadTest.Harness.RunAsync(args, Console.Out);
