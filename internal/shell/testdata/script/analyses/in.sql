.analyses
.run pipelines
.run two
