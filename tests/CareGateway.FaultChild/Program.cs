// The gateway in a child process, for the fault test that kills it with SIGKILL (tests/CareGateway.IntegrationTests).
// Usage: CareGateway.FaultChild CONFIG COUNT
// Runs the real GatewayRuntime (outbox on disk, uplink to the configured broker) on a simulated board without sensors,
// raises COUNT alarms through the real AlarmRaiser and prints "raised <alarmId>" after each one is durable, then
// "raised-all", then "drained" once the centre has answered 'received' for everything in the outbox. Stops cleanly
// when its standard input closes. With COUNT 0 it raises nothing itself (its Zigbee sensors do): it prints "subscribed"
// each time the Zigbee client is subscribed, and "stored <alarmId> <sensorId>" for each alarm once it is durable.
using System.Device.Gpio;
using System.Globalization;
using CareGateway;
using CareGateway.Core;
using CareGateway.Hardware;
using CareGateway.Protocol;
using Microsoft.Extensions.Logging;

if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
{
    await Console.Error.WriteLineAsync("usage: CareGateway.FaultChild CONFIG COUNT");
    return 2;
}

string[] types = [AlarmType.Panic, AlarmType.Fall, AlarmType.Wandering, AlarmType.Water, AlarmType.LowBattery];
var config = ConfigLoader.Load(args[0]);
using var logs = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning).AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));
using var gpio = new GpioController(new SimulatedBoard());
await using var runtime = new GatewayRuntime(config, gpio, TimeProvider.System, logs);
var output = TextWriter.Synchronized(Console.Out);
if (runtime.Zigbee is { } zigbee)
{
    zigbee.Subscribed += () => output.WriteLine("subscribed");
}

runtime.Raiser.Stored += (alarm, _) => output.WriteLine($"stored {alarm.AlarmId} {alarm.SensorId ?? "-"}");
var acked = new SemaphoreSlim(0);
runtime.Uplink.AckReceived += (_, _) => acked.Release();
using var stop = new CancellationTokenSource();
var running = runtime.RunAsync(stop.Token);
var stdin = Task.Run(() => Console.In.ReadToEnd());

var first = runtime.Outbox.LastSeq;
for (var i = 0; i < count; i++)
{
    var n = first + i + 1;
    var alarm = await runtime.Raiser.RaiseAsync(
        new AlarmRequest(types[n % types.Length], $"sensor-{n % 7}", "hallway", $"fault test burst alarm {n}", DateTimeOffset.UtcNow),
        CancellationToken.None);
    output.WriteLine($"raised {alarm.AlarmId}");
}

if (count > 0)
{
    output.WriteLine("raised-all");
    while (runtime.Outbox.PendingCount > 0 && !stdin.IsCompleted)
    {
        await Task.WhenAny(acked.WaitAsync(), stdin);
    }

    if (runtime.Outbox.PendingCount == 0)
    {
        output.WriteLine("drained");
    }
}

await stdin;
await stop.CancelAsync();
try
{
    await running;
}
catch (OperationCanceledException)
{
}

return 0;
