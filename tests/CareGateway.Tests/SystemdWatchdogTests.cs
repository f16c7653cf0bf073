using CareGateway.Hardware;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.Tests;

public class SystemdWatchdogTests
{
    [Theory]
    [InlineData("20000000", null, 10.0)]
    [InlineData("20000000", "4242", 10.0)]
    [InlineData("20000000", "1", null)]
    [InlineData("0", null, null)]
    [InlineData("abc", null, null)]
    [InlineData(null, null, null)]
    public void The_interval_is_half_of_what_systemd_asks_for_and_only_for_this_process(string? usec, string? pid, double? seconds)
    {
        var interval = SystemdWatchdog.IntervalFromEnvironment(usec, pid, processId: 4242);

        Assert.Equal(seconds is null ? null : TimeSpan.FromSeconds(seconds.Value), interval);
    }

    [Fact]
    public async Task Keep_alives_are_sent_while_the_probe_answers_and_withheld_while_it_hangs()
    {
        var clock = new FakeTimeProvider();
        var sent = new List<string>();
        var healthy = true;
        var hung = new TaskCompletionSource();
        var probed = new SemaphoreSlim(0);
        var watchdog = new SystemdWatchdog(
            TimeSpan.FromSeconds(10),
            _ =>
            {
                probed.Release();
                return healthy ? Task.CompletedTask : hung.Task;
            },
            s =>
            {
                lock (sent)
                {
                    sent.Add(s);
                }
            },
            clock,
            _ => { });
        using var stop = new CancellationTokenSource();
        var running = watchdog.RunAsync(stop.Token);

        clock.Advance(TimeSpan.FromSeconds(10));
        await probed.WaitAsync(TimeSpan.FromSeconds(10));
        await WaitUntil(() => Count(sent) == 1);

        healthy = false;
        clock.Advance(TimeSpan.FromSeconds(10));
        await probed.WaitAsync(TimeSpan.FromSeconds(10));
        clock.Advance(TimeSpan.FromSeconds(10)); // the probe's deadline passes
        await WaitUntil(() => watchdog.Withheld == 1);
        Assert.Equal(["WATCHDOG=1"], Snapshot(sent));

        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
    }

    private static int Count(List<string> list)
    {
        lock (list)
        {
            return list.Count;
        }
    }

    private static List<string> Snapshot(List<string> list)
    {
        lock (list)
        {
            return [.. list];
        }
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(5);
        }
    }
}
