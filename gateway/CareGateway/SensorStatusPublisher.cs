using CareGateway.Protocol;
using CareGateway.Sensors;
using CareGateway.Uplink;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// Publishes each sensor's normalized state and health, retained with QoS 1, on <c>care/v1/{gatewayId}/sensors/{sensorId}</c>
/// (docs/protocol.md): whenever <see cref="SensorHealthMonitor"/> reports a change, and every sensor again after each
/// (re)connect, so the retained picture at the broker is never older than the connection.
/// </summary>
public sealed class SensorStatusPublisher : IDisposable
{
    private readonly string _gatewayId;
    private readonly SensorHealthMonitor _monitor;
    private readonly CareMqttTransport _uplink;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _signal = new(0);

    public SensorStatusPublisher(string gatewayId, SensorHealthMonitor monitor, CareMqttTransport uplink, TimeProvider time, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(monitor);
        ArgumentNullException.ThrowIfNull(uplink);
        _gatewayId = gatewayId;
        _monitor = monitor;
        _uplink = uplink;
        _time = time;
        _log = log;
        _monitor.Changed += s => MarkDirty([s.SensorId]);
        _uplink.Connected += _ => MarkDirty(_monitor.Snapshot().Select(s => s.SensorId));
    }

    /// <summary>Raised after a status was published and the broker confirmed it.</summary>
    public event Action<SensorStatusMessage>? Published;

    public static SensorStatusMessage ToMessage(string gatewayId, SensorStatus s, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(s);
        return new SensorStatusMessage
        {
            GatewayId = gatewayId,
            SensorId = s.SensorId,
            Kind = SensorKinds.Name(s.Kind),
            Room = s.Room,
            Source = s.Source,
            State = s.Active switch { true => "active", false => "inactive", null => "unknown" },
            StateSince = s.StateSince,
            Online = s.Online,
            OfflineReason = s.OfflineReason,
            LastSeen = s.LastSeen,
            BatteryPercent = s.BatteryPercent,
            BatteryLow = s.BatteryLow,
            Tamper = s.Tamper,
            LinkQuality = s.LinkQuality,
            SupervisionSeconds = s.Supervision is { } sup ? (int)sup.TotalSeconds : null,
            At = at,
        };
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await _signal.WaitAsync(cancellationToken);
                while (_signal.CurrentCount > 0 && _signal.Wait(0, CancellationToken.None))
                {
                }

                await PublishDirtyAsync(cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public void Dispose() => _signal.Dispose();

    private void MarkDirty(IEnumerable<string> ids)
    {
        lock (_gate)
        {
            _dirty.UnionWith(ids);
        }

        _signal.Release();
    }

    private async Task PublishDirtyAsync(CancellationToken ct)
    {
        string[] ids;
        lock (_gate)
        {
            ids = [.. _dirty];
            _dirty.Clear();
        }

        for (var i = 0; i < ids.Length; i++)
        {
            if (_monitor.Get(ids[i]) is not { } status)
            {
                continue;
            }

            var message = ToMessage(_gatewayId, status, _time.GetUtcNow());
            if (!await _uplink.PublishRetainedAsync(Topics.Sensor(_gatewayId, status.SensorId), SensorStatusJson.Serialize(message), ct))
            {
                // Not connected (or no confirmation): keep the rest; the next connect republishes every sensor anyway.
                lock (_gate)
                {
                    _dirty.UnionWith(ids[i..]);
                }

                _log.LogDebug("Sensor status for {SensorId} not published yet: the centre's broker is not reachable", status.SensorId);
                return;
            }

            Published?.Invoke(message);
        }
    }
}
