using CareGateway.Demo;

// dotnet run --project samples/CareGateway.Demo: the whole chain in one process, on a scenario clock.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return await Demo.RunAsync(Console.Out, stop.Token);
