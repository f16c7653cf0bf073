using System.Diagnostics;
using System.Globalization;

namespace CareGateway;

/// <summary>
/// Where the time from process start to the first alarm goes (docs/performance.md): with
/// <c>CARE_GATEWAY_TRACE_STARTUP=1</c> in the environment the gateway writes one line to standard error at each step of
/// its start (<c>startup +123.4 ms: config loaded</c>), counted from the process start the kernel recorded. Off by
/// default; when off, each step costs one static field read.
/// </summary>
internal static class StartupTrace
{
    // In this order: static initializers run top to bottom.
    private static readonly bool On = Environment.GetEnvironmentVariable("CARE_GATEWAY_TRACE_STARTUP") == "1";
    private static readonly long MainTicks = Stopwatch.GetTimestamp();
    private static readonly double MainOffsetMs = On ? SinceProcessStartMs() : 0;
    private static int _zigbee, _uplink, _stored, _sent;

    public static bool Enabled => On;

    /// <summary>Writes one step, with the time since the process started.</summary>
    public static void Mark(string step)
    {
        if (!Enabled)
        {
            return;
        }

        var ms = MainOffsetMs + Stopwatch.GetElapsedTime(MainTicks).TotalMilliseconds;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"startup +{ms:F1} ms: {step}"));
    }

    /// <summary>Marks the first time each of the runtime's milestones happens: connections up, first alarm stored and sent.</summary>
    public static void Attach(GatewayRuntime runtime)
    {
        if (!Enabled)
        {
            return;
        }

        Mark("gateway runtime built (outbox and journal open, rules loaded)");
        if (runtime.Zigbee is { } zigbee)
        {
            zigbee.Subscribed += () => Once(ref _zigbee, "subscribed to zigbee2mqtt on the home broker");
        }

        runtime.Uplink.Connected += () => Once(ref _uplink, "connected to the centre");
        runtime.Raiser.Stored += (_, _) => Once(ref _stored, "first alarm durable in the outbox");
        runtime.Uplink.AlarmSent += _ => Once(ref _sent, "first alarm published to the centre (PUBACK)");
    }

    private static void Once(ref int flag, string step)
    {
        if (Interlocked.Exchange(ref flag, 1) == 0)
        {
            Mark(step);
        }
    }

    /// <summary>Time since the kernel started this process: /proc/self/stat's start time (clock ticks after boot) against /proc/uptime.</summary>
    private static double SinceProcessStartMs()
    {
        try
        {
            var stat = File.ReadAllText("/proc/self/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var startTicks = double.Parse(fields[19], CultureInfo.InvariantCulture); // field 22 of the whole line
            var uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);
            return (uptime - (startTicks / 100.0)) * 1000; // USER_HZ is 100 on Linux
        }
        catch (Exception ex) when (ex is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return double.NaN;
        }
    }
}
