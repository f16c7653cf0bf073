using CareGateway.Protocol;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>The service's configuration, section <c>Centre</c> (appsettings.json, environment <c>Centre__...</c>).</summary>
public sealed class CentreSettings
{
    /// <summary>The centre system's id; it signs the <c>received</c> acknowledgements.</summary>
    public string CentreId { get; set; } = "centre";

    public DatabaseSettings Database { get; set; } = new();

    public MqttSettings Mqtt { get; set; } = new();

    public DataProtectionSettings DataProtection { get; set; } = new();

    public WebSettings Web { get; set; } = new();

    /// <summary>Per-gateway limits at the intake, so one gateway's flood cannot delay other homes.</summary>
    public IntakeSettings Intake { get; set; } = new();

    /// <summary>Each priority's time to be accepted; past it the alarm alerts again and goes to the second tier.</summary>
    public EscalationSettings Escalation { get; set; } = new();

    /// <summary>How long each kind of data is kept (<c>Centre:Retention</c>); see docs/response-centre.md.</summary>
    public RetentionSettings Retention { get; set; } = new();

    /// <summary>Sends each closed care alarm's VKP bundle to the municipality's FHIR endpoint (<c>Centre:VkpSender</c>, issue 18).</summary>
    public Vkp.VkpSenderSettings VkpSender { get; set; } = new();

    /// <summary>Home-care teams sent to an alarm and the links they work from (<c>Centre:Dispatch</c>, issue 18).</summary>
    public DispatchSettings Dispatch { get; set; } = new();

    /// <summary>A gateway is silent after this many heartbeat intervals without one.</summary>
    public double MissedHeartbeats { get; set; } = 3;

    /// <summary>
    /// A gateway whose automatic test alarm (every 24 h by default on the gateway) has not arrived for this long raises
    /// one <c>test-alarm-missing</c> technical alarm; 0 turns the watch off.
    /// </summary>
    public double TestAlarmOverdueHours { get; set; } = 26;

    /// <summary>How often the centre looks for silent gateways and re-sends acknowledgements the broker did not take.</summary>
    public int HealthCheckSeconds { get; set; } = 5;

    /// <summary>Time zone the console shows times in.</summary>
    public string TimeZone { get; set; } = "Europe/Oslo";

    /// <summary>Language of the console until the operator picks one: <c>nb</c> or <c>en</c>.</summary>
    public string DefaultLanguage { get; set; } = "nb";
}

/// <summary>The links a dispatched home-care team works from (<c>Centre:Dispatch</c>).</summary>
public sealed class DispatchSettings
{
    /// <summary>
    /// The address the teams' phones reach the centre at (for example <c>https://centre.example.no</c>), when it is not the
    /// console's own (the console on an internal network, the team page published through a proxy). Default: the address
    /// the operator's console was reached at.
    /// </summary>
    public string? BaseUrl { get; set; }

    /// <summary>A team's link works at most this long (1 to 72 hours), and never after the alarm is closed.</summary>
    public double LinkHours { get; set; } = 12;

    public TimeSpan LinkLifetime => TimeSpan.FromHours(Math.Clamp(LinkHours, 1, 72));
}

/// <summary>
/// Per-gateway limits at the intake (<c>Centre:Intake</c>). An alarm over them is not stored and not answered: it waits
/// in the gateway's outbox, which sends it again, and the gateway gets one technical alarm <c>alarm-flood</c>.
/// </summary>
/// <summary>
/// Time to be accepted, per priority, from when the centre stored the alarm. Past it a care alarm still waiting for
/// an operator alerts every console again, is marked escalated in the queue and goes to the second tier (supervisors).
/// </summary>
public sealed class EscalationSettings
{
    public int CriticalSeconds { get; set; } = 60;
    public int HighSeconds { get; set; } = 180;
    public int MediumSeconds { get; set; } = 600;
    public int LowSeconds { get; set; } = 1800;

    public TimeSpan TimeToAccept(AlarmPriority priority) => TimeSpan.FromSeconds(Math.Max(10, priority switch
    {
        AlarmPriority.Critical => CriticalSeconds,
        AlarmPriority.High => HighSeconds,
        AlarmPriority.Medium => MediumSeconds,
        _ => LowSeconds,
    }));
}

/// <summary>
/// Days each kind of data is kept after its alarm closed (audit: after it was written); 0 keeps it for ever. Open
/// alarms are never removed. The record of care is the patient record (the FHIR export), not the centre's database.
/// </summary>
public sealed class RetentionSettings
{
    /// <summary>Closed alarms with their acknowledgements (the figures cover this window).</summary>
    public int AlarmDays { get; set; } = 365;

    /// <summary>The operator's free-text note on a closed alarm, which may hold health details.</summary>
    public int NoteDays { get; set; } = 90;

    /// <summary>The audit log.</summary>
    public int AuditDays { get; set; } = 730;

    /// <summary>How often the retention pass runs.</summary>
    public double CheckHours { get; set; } = 6;

    public Storage.RetentionCutoffs CutoffsAt(DateTimeOffset now) => new(Before(now, AlarmDays), Before(now, NoteDays), Before(now, AuditDays));

    private static DateTimeOffset? Before(DateTimeOffset now, int days) => days > 0 ? now.AddDays(-days) : null;
}

public sealed class IntakeSettings
{
    /// <summary>Alarms one gateway may send at once (a power cut can take many sensors offline together).</summary>
    public int AlarmBurst { get; set; } = 30;

    /// <summary>After the burst, alarms a minute one gateway may send.</summary>
    public int AlarmsPerMinute { get; set; } = 30;

    /// <summary>Open alarms of one gateway in the queue at most (test alarms and technical alarms not counted).</summary>
    public int MaxOpenAlarms { get; set; } = 50;
}

public sealed class DatabaseSettings
{
    /// <summary><c>sqlite</c> (embedded default) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>For SQLite a file path or connection string (default: in the user's local data folder); for PostgreSQL an Npgsql connection string.</summary>
    public string? ConnectionString { get; set; }
}

/// <summary>How the console is reached: directly over HTTPS (Kestrel with a certificate) or through a TLS reverse proxy.</summary>
public sealed class WebSettings
{
    /// <summary>
    /// Addresses or networks (<c>10.0.0.5</c>, <c>10.0.0.0/24</c>) of the reverse proxies whose <c>X-Forwarded-For</c>
    /// and <c>X-Forwarded-Proto</c> are believed. Default: loopback only (a proxy on the same machine).
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Rows per page of the alarm queue (10 to 1,000).</summary>
    public int QueuePageSize { get; set; } = 100;

    /// <summary><c>Strict-Transport-Security</c> max-age sent on every HTTPS answer.</summary>
    public int HstsSeconds { get; set; } = 365 * 24 * 3600;

    /// <summary>
    /// The longest a console session lasts from its login, however active (1 to 24 hours; default one 12-hour shift).
    /// Within it a session also ends after 12 hours without a request.
    /// </summary>
    public double SessionMaxHours { get; set; } = 12;

    public TimeSpan SessionMaxAge => TimeSpan.FromHours(Math.Clamp(SessionMaxHours, 1, 24));

    /// <summary>
    /// When true, a user without an enrolled second factor (<c>response-centre enrol-totp NAME</c>) cannot log in and
    /// is told to have one enrolled. Users who have one always need their code, whatever this says.
    /// </summary>
    public bool RequireSecondFactor { get; set; }
}

/// <summary>The keys that sign the console's session cookies and form tokens (ASP.NET Core Data Protection).</summary>
public sealed class DataProtectionSettings
{
    /// <summary>
    /// Folder of the key ring; created 0700. Default: <c>keys</c> beside the SQLite database (with PostgreSQL, in the
    /// user's local data folder). Instances behind one address must share it.
    /// </summary>
    public string? KeyRingPath { get; set; }

    /// <summary>
    /// Where the key ring lives: <c>folder</c> (<see cref="KeyRingPath"/>, the default) or <c>database</c> (a table of the
    /// centre's database, so that every instance on that database shares it without a shared folder).
    /// </summary>
    public string KeyStore { get; set; } = "folder";

    /// <summary>A PKCS#12 (<c>.pfx</c>) certificate with its private key that encrypts the keys at rest. Without it the keys are stored unencrypted (a warning at start).</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }
}

public sealed class MqttSettings
{
    /// <summary>Set false to run the console without a broker (for example to look at stored data).</summary>
    public bool Enabled { get; set; } = true;

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 1883;

    /// <summary>Client id of this instance; each instance needs its own (its persistent session lives at the broker).</summary>
    public string? ClientId { get; set; }

    public string? Username { get; set; }

    public string? Password { get; set; }

    /// <summary>TLS to the broker (also implied by <see cref="CaFile"/>, <see cref="CertFile"/> and <see cref="KeyFile"/>).</summary>
    public bool UseTls { get; set; }

    /// <summary>
    /// PEM file of the CA(s) that signed the broker's certificate: only these are trusted (CA pinning, as the gateways
    /// do); without it the machine's trust store is used.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>The centre's client certificate (PEM) for mutual TLS, with <see cref="KeyFile"/>: its common name is the centre's MQTT identity.</summary>
    public string? CertFile { get; set; }

    /// <summary>The private key (PEM) of <see cref="CertFile"/>; readable by the service's user only.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The name the broker's certificate must carry when it differs from <see cref="Host"/>.</summary>
    public string? TlsServerName { get; set; }

    /// <summary>Whether the link uses TLS: <see cref="UseTls"/>, or any of the TLS files set.</summary>
    public bool Tls => UseTls || CaFile is not null || CertFile is not null || KeyFile is not null;

    /// <summary>
    /// MQTT 5 Maximum Packet Size announced to the broker: it never sends a bigger packet (it drops the message), so an
    /// oversized payload costs the centre no memory. The default fits the protocol's 64 KiB message limit; 0 announces none.
    /// </summary>
    public uint MaximumPacketSize { get; set; } = CareGateway.Protocol.ProtocolJson.MaxPacketBytes;

    /// <summary>MQTT keep-alive: one ping per period while idle.</summary>
    public int KeepAliveSeconds { get; set; } = 30;

    /// <summary>First step of the reconnect back-off.</summary>
    public int ReconnectMinMilliseconds { get; set; } = 100;

    /// <summary>Cap of the reconnect back-off: back within about a second of the broker's return (one client: nothing to protect).</summary>
    public int ReconnectMaxMilliseconds { get; set; } = 1000;

    /// <summary>
    /// MQTT 5 shared-subscription group for alarms and heartbeats (<c>$share/{group}/care/v1/+/alarm</c>): instances
    /// with the same group split the load. Empty subscribes plainly (one instance, or a broker without shared subscriptions).
    /// </summary>
    public string? SharedGroup { get; set; } = "centre";
}
