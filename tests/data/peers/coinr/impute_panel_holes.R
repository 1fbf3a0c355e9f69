# COINr 1.1.14 impute_panel on panel_holes.csv (ASEM_iData_p, 8 complete indicators, cells removed
# in a fixed pattern: leading, middle, two middle, trailing, two leading, two trailing)
suppressPackageStartupMessages(library(COINr))
stopifnot(as.character(packageVersion("COINr")) == "1.1.14")
d <- read.csv("/tmp/ma/panel/panel_holes.csv", stringsAsFactors = FALSE)
icodes <- setdiff(names(d), c("uCode", "Time"))
for (it in c("latest", "constant", "linear")) {
  r <- suppressMessages(impute_panel(d, cols = icodes, imp_type = it))
  out <- r$iData_imp[c("uCode", "Time", icodes)]
  out <- out[order(out$uCode, out$Time), ]
  for (c in icodes) out[[c]] <- ifelse(is.na(out[[c]]), "", sprintf("%.17g", out[[c]]))
  write.csv(out, paste0("/tmp/ma/panel/impute_panel_holes_", it, ".csv"), row.names = FALSE, quote = FALSE)
}
