namespace FastProxy.Dns;

/// <summary>What the cluster zone says about one question: a response code and the records of each section.</summary>
internal sealed class DnsAnswer
{
    public int Rcode { get; set; } = DnsRcode.NoError;

    public List<DnsRecord> Answers { get; } = [];

    public List<DnsRecord> Authority { get; } = [];

    public List<DnsRecord> Additional { get; } = [];
}
