import java.io.*;
import java.util.*;
import org.dkpro.statistics.agreement.unitizing.*;
public class Drive {
  static class KA extends KrippendorffAlphaUnitizingAgreement {
    KA(IUnitizingAnnotationStudy s) { super(s); }
    double o(Object c) { return calculateObservedCategoryDisagreement(c); }
    double e(Object c) { return calculateExpectedCategoryDisagreement(c); }
  }
  public static void main(String[] a) throws Exception {
    BufferedReader r = new BufferedReader(new InputStreamReader(System.in));
    String line; UnitizingAnnotationStudy st = null;
    while ((line = r.readLine()) != null) {
      String[] p = line.trim().split(" ");
      if (p[0].equals("study")) st = new UnitizingAnnotationStudy(Integer.parseInt(p[1]), Long.parseLong(p[2]), Long.parseLong(p[3]));
      else if (p[0].equals("unit")) st.addUnit(Long.parseLong(p[1]), Long.parseLong(p[2]), Integer.parseInt(p[3]), p[4]);
      else if (p[0].equals("end")) {
        KA k = new KA(st);
        String overall;
        try { overall = Double.toString(k.calculateAgreement()); } catch (Exception ex) { overall = "NaN"; }
        StringBuilder sb = new StringBuilder("overall " + overall);
        TreeSet<String> cats = new TreeSet<>(); for (Object c : st.getCategories()) cats.add((String) c);
        for (String c : cats) sb.append(" | " + c + " " + k.o(c) + " " + k.e(c) + " " + k.calculateCategoryAgreement(c));
        System.out.println(sb);
      }
    }
  }
}
