package gateway

import "hearth/internal/logs"

// LogsOps is the CloudWatch Logs (Logs_20140328) operation table.
func LogsOps(s *logs.Service) map[string]operation {
	return map[string]operation{
		"DescribeLogGroups":     op(s.DescribeLogGroups),
		"DescribeLogStreams":    op(s.DescribeLogStreams),
		"GetLogEvents":          op(s.GetLogEvents),
		"FilterLogEvents":       op(s.FilterLogEvents),
		"DeleteLogGroup":        op(s.DeleteLogGroup),
		"PutRetentionPolicy":    op(s.PutRetentionPolicy),
		"DeleteRetentionPolicy": op(s.DeleteRetentionPolicy),
	}
}
