using System.Collections.Concurrent;
using CareGateway.Protocol;
using CareGateway.Tests;
using CareGateway.Uplink;
using Xunit.Abstractions;

namespace CareGateway.IntegrationTests;

/// <summary>
/// The uplink's supervision wired end to end through a real Mosquitto and the real centre: heartbeats answered,
/// the automatic test alarm's round trip, a silent centre noticed, an alarm nobody accepts escalated.
/// (The timer logic itself is tested on fake time in CentreSupervisorTests; here only the wiring, on short real timers.)
/// </summary>
public class SupervisionTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_centre_answers_heartbeats_and_the_test_alarm_and_the_gateway_reports_the_round_trip()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker);
        var options = UplinkUnderTest.FastOptions("gw-sup-test", broker.Host, broker.Port) with
        {
            HeartbeatInterval = TimeSpan.FromSeconds(1),
            TestAlarmInterval = TimeSpan.FromMilliseconds(500),
        };
        await using var gateway = new UplinkUnderTest(dir.Path, options, new TestOutputLogger(output, "uplink"));
        var heartbeat = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        var test = new TaskCompletionSource<(string Id, TimeSpan RoundTrip)>(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Uplink.HeartbeatAnswered += rtt => heartbeat.TrySetResult(rtt);
        gateway.Uplink.TestAlarmAnswered += (id, rtt) => test.TrySetResult((id, rtt));

        var heartbeatRoundTrip = await heartbeat.Task.WaitAsync(Bound);
        var (testId, testRoundTrip) = await test.Task.WaitAsync(Bound);

        Assert.True(heartbeatRoundTrip >= TimeSpan.Zero);
        Assert.True(testRoundTrip > TimeSpan.Zero);
        var copies = centre.Copies[testId];
        Assert.Equal(AlarmType.Test, copies.First().Type);
        var diagnostics = gateway.Uplink.Diagnostics;
        Assert.True(diagnostics.Connected);
        Assert.NotNull(diagnostics.LastCentreAnswer);
        Assert.NotNull(diagnostics.LastTestAlarmRoundTrip);
        Assert.Empty(diagnostics.ActiveWarnings);

        // The centre's side of the watch: a gateway is silent once three of its announced heartbeat intervals pass unheard.
        var now = DateTimeOffset.UtcNow;
        Assert.DoesNotContain(centre.Centre.SilentGateways(now, missedIntervals: 30), g => g.GatewayId == "gw-sup-test");
        Assert.Contains(centre.Centre.SilentGateways(now + TimeSpan.FromSeconds(60)), g => g.GatewayId == "gw-sup-test");

        // The centre closes a test alarm by itself: no operator, no escalation.
        var closed = new Counter();
        gateway.Uplink.AckReceived += (ack, _) =>
        {
            if (ack.AlarmId == testId && ack.State == AckState.Closed)
            {
                closed.Increment();
            }
        };
        if (gateway.Outbox.Find(testId)?.Ack != AckState.Closed)
        {
            await closed.WaitForAsync(1, Bound, "the centre closed the test alarm");
        }

        Assert.Equal(AckState.Closed, gateway.Outbox.Find(testId)!.Ack);
    }

    [Fact]
    public async Task A_centre_that_goes_silent_behind_a_working_broker_is_noticed_and_its_return_too()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var centre = await CentreRecorder.StartAsync(broker);
        var options = UplinkUnderTest.FastOptions("gw-sup-silent", broker.Host, broker.Port) with
        {
            HeartbeatInterval = TimeSpan.FromSeconds(1),
            CentreSilentAfter = TimeSpan.FromSeconds(2.5),
            SupervisionInterval = TimeSpan.FromMilliseconds(100),
            TestAlarmInterval = null,
        };
        await using var gateway = new UplinkUnderTest(dir.Path, options, new TestOutputLogger(output, "uplink"));
        var warnings = new ConcurrentQueue<(LocalWarning Warning, bool Active)>();
        var silentOn = new Counter();
        var silentOff = new Counter();
        gateway.Uplink.LocalWarningChanged += (w, active, _) =>
        {
            warnings.Enqueue((w, active));
            if (w == LocalWarning.CentreSilent)
            {
                (active ? silentOn : silentOff).Increment();
            }
        };
        var answered = new Counter();
        gateway.Uplink.HeartbeatAnswered += _ => answered.Increment();
        await answered.WaitForAsync(1, Bound, "the centre answered a heartbeat");

        await centre.DisposeAsync(); // the centre's system stops; the broker and the gateway's connection stay up
        await silentOn.WaitForAsync(1, Bound, "the gateway noticed the silent centre");
        Assert.True(gateway.Uplink.IsConnected);
        Assert.Contains(LocalWarning.CentreSilent, gateway.Uplink.Diagnostics.ActiveWarnings);

        await using var back = await CentreRecorder.StartAsync(broker, "centre-test-2");
        await silentOff.WaitForAsync(1, Bound, "the gateway noticed the centre is back");
        Assert.DoesNotContain(LocalWarning.CentreSilent, gateway.Uplink.Diagnostics.ActiveWarnings);
    }

    [Fact]
    public async Task An_alarm_that_no_operator_accepts_in_time_is_escalated_by_resending_and_locally()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreRecorder.StartAsync(broker);
        var options = UplinkUnderTest.FastOptions("gw-sup-accept", broker.Host, broker.Port) with
        {
            AcceptedTimeout = TimeSpan.FromSeconds(1),
            SupervisionInterval = TimeSpan.FromMilliseconds(100),
            TestAlarmInterval = null,
        };
        await using var gateway = new UplinkUnderTest(dir.Path, options, new TestOutputLogger(output, "uplink"));
        var escalated = new TaskCompletionSource<OutboxAlarm>(TaskCreationOptions.RunContinuationsAsynchronously);
        var notAcceptedOff = new Counter();
        var notAcceptedOn = new Counter();
        gateway.Uplink.AlarmEscalated += a => escalated.TrySetResult(a);
        gateway.Uplink.LocalWarningChanged += (w, active, _) =>
        {
            if (w == LocalWarning.AlarmNotAccepted)
            {
                (active ? notAcceptedOn : notAcceptedOff).Increment();
            }
        };

        await gateway.RaiseAsync(1);
        var alarm = await escalated.Task.WaitAsync(Bound);
        var id = Assert.Single(gateway.Raised);
        Assert.Equal(id, alarm.Alarm.AlarmId);
        await notAcceptedOn.WaitForAsync(1, Bound, "local warning for the unaccepted alarm");

        // The escalation re-sends the alarm: the centre gets another copy with the same id and a higher attempt.
        var copies = new Counter();
        centre.Centre.AlarmCopyReceived += m =>
        {
            if (m.AlarmId == id)
            {
                copies.Increment();
            }
        };
        if (centre.CopiesOf(id) < 2)
        {
            await copies.WaitForAsync(1, Bound, "the escalated copy at the centre");
        }

        Assert.Contains(centre.Copies[id], c => c.Attempt >= 2);
        centre.AssertExactly([id], "gw-sup-accept");

        using var deadline = new CancellationTokenSource(Bound);
        await centre.Centre.AcknowledgeAsync("gw-sup-accept", id, AckState.Accepted, "operator-7", null, deadline.Token);
        await notAcceptedOff.WaitForAsync(1, Bound, "the warning ends once an operator accepts");
    }

    /// <summary>An alarm no centre receives is re-sent, and the log says how long it has waited as a person reads it ("2 s", not "00:00:02.0012345").</summary>
    [Fact]
    public async Task A_re_sent_alarm_is_logged_with_its_wait_in_words()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var log = new SignallingLogger("re-sent");
        await using var gateway = new UplinkUnderTest(dir.Path, UplinkUnderTest.FastOptions("gw-sup-resend", broker.Host, broker.Port), log);

        await gateway.RaiseAsync(1);
        var line = await log.Matched.Task.WaitAsync(Bound);

        Assert.Matches(@"waiting \d+ (ms|s) on the gateway", line);
        Assert.DoesNotMatch(@"\d\d:\d\d:\d\d", line);
    }

    /// <summary>Completes <see cref="Matched"/> with the first log line that contains a text.</summary>
    private sealed class SignallingLogger(string text) : Microsoft.Extensions.Logging.ILogger
    {
        public TaskCompletionSource<string> Matched { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            var line = formatter(state, exception);
            if (line.Contains(text, StringComparison.Ordinal))
            {
                Matched.TrySetResult(line);
            }
        }
    }
}
